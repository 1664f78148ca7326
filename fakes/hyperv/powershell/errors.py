"""Error records of the fake PowerShell, with the texts the real cmdlets print.

Two exception types travel through the fake:

* :class:`PSError` is an error record being raised: a message plus the
  category, target and error id that PowerShell shows under it. The
  interpreter stamps the command name and its position in the script.
* :class:`VirtualizationError` is what the Hyper-V model (host, replication,
  agent) raises; it has no command yet. The cmdlet layer turns it into a
  :class:`PSError` for the cmdlet that ran.

The functions below build the records whose wording comes from real Windows
PowerShell 5.1 and the Hyper-V module, so a plugin sees the same text as on
a real host.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ErrorPosition:
    """Where in the script an error happened: 1-based line and column, and the span length."""

    line: int
    column: int
    length: int
    source_line: str


@dataclass(frozen=True)
class ErrorRecord:
    """What PowerShell displays for one error (the ``ErrorRecord`` fields the fake keeps)."""

    message: str
    category: str
    error_id: str
    exception: str
    target: str = ""
    target_type: str = ""
    command: str = ""
    command_class: str = ""
    position: ErrorPosition | None = None
    parser_error: bool = False

    @property
    def fully_qualified_error_id(self) -> str:
        """``ErrorId,Command.Class`` for cmdlet errors, the bare id otherwise."""
        return f"{self.error_id},{self.command_class}" if self.command_class else self.error_id


class PSError(Exception):
    """An error record raised inside the fake PowerShell."""

    def __init__(self, record: ErrorRecord) -> None:
        super().__init__(record.message)
        self.record = record

    def with_command(self, command: str, command_class: str) -> PSError:
        """The same error, attributed to ``command`` unless it already names one."""
        if self.record.command or self.record.parser_error:
            return self
        return PSError(replace(self.record, command=command, command_class=command_class))

    def at(self, position: ErrorPosition) -> PSError:
        """The same error, placed at ``position`` unless it already has one."""
        if self.record.position is not None:
            return self
        return PSError(replace(self.record, position=position))


class VirtualizationError(Exception):
    """A Hyper-V operation refused by the model; the cmdlet layer adds the command."""

    def __init__(
        self,
        message: str,
        *,
        category: str = "InvalidOperation",
        error_id: str = "InvalidOperation",
        target: str = "",
        exception: str = "VirtualizationException",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.category = category
        self.error_id = error_id
        self.target = target
        self.exception = exception

    def to_ps_error(self) -> PSError:
        """The error record PowerShell would show for this failure."""
        target_type = "String" if self.target else ""
        return PSError(
            ErrorRecord(
                message=self.message,
                category=self.category,
                error_id=self.error_id,
                exception=self.exception,
                target=self.target,
                target_type=target_type,
            )
        )


# -- parser errors ---------------------------------------------------------------------


def parse_error(message: str, error_id: str, position: ErrorPosition) -> PSError:
    """A parser error (the whole script is refused before anything runs)."""
    return PSError(
        ErrorRecord(
            message=message,
            category="ParserError",
            error_id=error_id,
            exception="ParentContainsErrorRecordException",
            position=position,
            parser_error=True,
        )
    )


def unsupported_construct(construct: str, position: ErrorPosition) -> PSError:
    """A valid PowerShell construct that the fake refuses, so a plugin change fails loudly."""
    return parse_error(
        f"The srp fake PowerShell does not support {construct}.",
        "SrpFakeUnsupportedConstruct",
        position,
    )


# -- runtime errors of the engine ------------------------------------------------------


def command_not_found(name: str) -> PSError:
    """``The term 'X' is not recognized ...`` exactly as PowerShell 5.1 words it."""
    return PSError(
        ErrorRecord(
            message=(
                f"The term '{name}' is not recognized as the name of a cmdlet, function, "
                "script file, or operable program. Check the spelling of the name, or if a "
                "path was included, verify that the path is correct and try again."
            ),
            category="ObjectNotFound",
            error_id="CommandNotFoundException",
            exception="CommandNotFoundException",
            target=name,
            target_type="String",
            command=name,
        )
    )


def runtime_error(message: str, error_id: str, *, category: str = "InvalidOperation") -> PSError:
    """An engine error outside any cmdlet (method calls, casts, unsupported types)."""
    return PSError(
        ErrorRecord(
            message=message,
            category=category,
            error_id=error_id,
            exception="RuntimeException",
        )
    )


def unsupported_runtime(construct: str) -> PSError:
    """A construct the fake cannot evaluate (found only at run time, e.g. an unknown type)."""
    return runtime_error(
        f"The srp fake PowerShell does not support {construct}.", "SrpFakeUnsupportedConstruct"
    )


def io_device_error(detail: str) -> PSError:
    """A failing disk under a cmdlet (Windows' ERROR_IO_DEVICE)."""
    return PSError(
        ErrorRecord(
            message=(
                f"The request could not be performed because of an I/O device error. ({detail})"
            ),
            category="WriteError",
            error_id="IOError",
            exception="IOException",
        )
    )


# -- parameter binding -----------------------------------------------------------------


def _binding(message: str, error_id: str, *, category: str = "InvalidArgument") -> PSError:
    return PSError(
        ErrorRecord(
            message=message,
            category=category,
            error_id=error_id,
            exception="ParameterBindingException",
        )
    )


def parameter_not_found(name: str) -> PSError:
    return _binding(
        f"A parameter cannot be found that matches parameter name '{name}'.",
        "NamedParameterNotFound",
    )


def ambiguous_parameter(name: str, candidates: list[str]) -> PSError:
    choices = " ".join(candidates)
    return _binding(
        f"Parameter cannot be processed because the parameter name '{name}' is ambiguous. "
        f"Possible matches include: {choices}.",
        "AmbiguousParameter",
    )


def positional_not_found(argument: str) -> PSError:
    return _binding(
        f"A positional parameter cannot be found that accepts argument '{argument}'.",
        "PositionalParameterNotFound",
    )


def missing_argument(name: str, type_name: str) -> PSError:
    return _binding(
        f"Missing an argument for parameter '{name}'. Specify a parameter of type "
        f"'{type_name}' and try again.",
        "MissingArgument",
    )


def parameter_already_bound(name: str) -> PSError:
    return _binding(
        f"Cannot bind parameter because parameter '{name}' is specified more than once. To "
        "provide multiple values to parameters that can accept multiple values, use the array "
        'syntax. For example, "-parameter value1,value2,value3".',
        "ParameterAlreadyBound",
    )


def missing_mandatory(names: list[str]) -> PSError:
    return _binding(
        "Cannot process command because of one or more missing mandatory parameters: "
        f"{' '.join(names)}.",
        "MissingMandatoryParameter",
    )


def ambiguous_parameter_set() -> PSError:
    return _binding(
        "Parameter set cannot be resolved using the specified named parameters.",
        "AmbiguousParameterSet",
    )


def cannot_convert(name: str, value: str, type_name: str, reason: str) -> PSError:
    return _binding(
        f"Cannot bind parameter '{name}'. Cannot convert value \"{value}\" to type "
        f'"{type_name}". Error: "{reason}"',
        "CannotConvertArgumentNoMessage",
    )


def not_a_boolean(name: str, value_type: str) -> PSError:
    return _binding(
        f"Cannot convert '{value_type}' to the type 'System.Boolean' required by parameter "
        f"'{name}'. Boolean parameters accept only Boolean values and numbers, such as $True, "
        "$False, 1 or 0.",
        "ParameterArgumentTransformationError",
    )


def _validation(message: str) -> PSError:
    return PSError(
        ErrorRecord(
            message=message,
            category="InvalidData",
            error_id="ParameterArgumentValidationError",
            exception="ParameterBindingValidationException",
        )
    )


def not_in_set(name: str, value: str, allowed: list[str]) -> PSError:
    return _validation(
        f"Cannot validate argument on parameter '{name}'. The argument \"{value}\" does not "
        f'belong to the set "{",".join(allowed)}" specified by the ValidateSet attribute. '
        "Supply an argument that is in the set and then try the command again."
    )


def above_range(name: str, value: int, maximum: int) -> PSError:
    return _validation(
        f"Cannot validate argument on parameter '{name}'. The {value} argument is greater "
        f"than the maximum allowed range of {maximum}. Supply an argument that is less than "
        f"or equal to {maximum} and then try the command again."
    )


def below_range(name: str, value: int, minimum: int) -> PSError:
    return _validation(
        f"Cannot validate argument on parameter '{name}'. The {value} argument is less than "
        f"the minimum allowed range of {minimum}. Supply an argument that is greater than or "
        f"equal to {minimum} and then try the command again."
    )


def input_not_bound() -> PSError:
    return _binding(
        "The input object cannot be bound to any parameters for the command either because "
        "the command does not take pipeline input or the input and its properties do not "
        "match any of the parameters that take pipeline input.",
        "InputObjectNotBound",
    )


# -- Hyper-V texts ---------------------------------------------------------------------


def vm_not_found(name: str) -> VirtualizationError:
    """``Hyper-V was unable to find a virtual machine with name "x".`` (Get-VM and friends)."""
    return VirtualizationError(
        f'Hyper-V was unable to find a virtual machine with name "{name}".',
        category="InvalidArgument",
        error_id="InvalidParameter",
        target=name,
    )


def vm_id_suffix(vm_id: str) -> str:
    return f"(Virtual machine ID {vm_id.upper()})"


def operation_failed(vm_name: str, action: str, reason: str, vm_id: str) -> VirtualizationError:
    """The Hyper-V layout: ``'x' failed to <action>.`` then the reason and the VM id."""
    return VirtualizationError(
        f"'{vm_name}' failed to {action}.\n{reason} {vm_id_suffix(vm_id)}",
        target=vm_name,
    )


def replication_not_enabled(vm_name: str) -> VirtualizationError:
    return VirtualizationError(
        f"Replication is not enabled for virtual machine '{vm_name}'.",
        error_id="InvalidOperation",
        target=vm_name,
    )


def invalid_state(vm_name: str, action: str, vm_id: str, state: str) -> VirtualizationError:
    """The generic Hyper-V "invalid state for this operation" failure (WMI error 32775)."""
    return operation_failed(
        vm_name,
        action,
        "The operation cannot be performed while the object is in its current state "
        f"(replication state: {state}).",
        vm_id,
    )


def null_argument(name: str) -> PSError:
    return _validation_with_id(
        f"Cannot bind argument to parameter '{name}' because it is null.",
        "ParameterArgumentValidationErrorNullNotAllowed",
    )


def empty_string_argument(name: str) -> PSError:
    return _validation_with_id(
        f"Cannot bind argument to parameter '{name}' because it is an empty string.",
        "ParameterArgumentValidationErrorEmptyStringNotAllowed",
    )


def _validation_with_id(message: str, error_id: str) -> PSError:
    return PSError(
        ErrorRecord(
            message=message,
            category="InvalidData",
            error_id=error_id,
            exception="ParameterBindingValidationException",
        )
    )
