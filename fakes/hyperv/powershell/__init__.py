"""The PowerShell subset a fake Hyper-V host understands: lexer, parser, interpreter, cmdlets.

Scripts are parsed (not matched as strings): quoting follows PowerShell
exactly, constructs outside the hyperv contract are refused with a parser
error naming them, and unknown commands fail with PowerShell's own
"is not recognized" error. Output is what Windows PowerShell 5.1 writes:
``ConvertTo-Json`` text on stdout, CLIXML error records on stderr.
"""
