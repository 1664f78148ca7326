"""The vmm plugin: System Center VMM servers and their clouds, over WinRM + VMM cmdlets."""
