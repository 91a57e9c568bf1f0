"""Data Prep mapping engine: mapping sets, attribute paths and calculated fields."""

from emulators.aep.mapping.engine import (
    STORED_SOURCE_TYPES,
    CompiledMappingSet,
    MappedRecord,
    MappingIssue,
    MappingValidationError,
    compile_mappings,
    normalise_mappings,
    preview,
    validate_expression,
    validate_mappings,
)
from emulators.aep.mapping.functions import SUPPORTED_FUNCTIONS

__all__ = [
    "STORED_SOURCE_TYPES",
    "SUPPORTED_FUNCTIONS",
    "CompiledMappingSet",
    "MappedRecord",
    "MappingIssue",
    "MappingValidationError",
    "compile_mappings",
    "normalise_mappings",
    "preview",
    "validate_expression",
    "validate_mappings",
]
