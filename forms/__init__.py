"""Declaration types as data: the YAML schema, a strict loader, the definitions."""

from forms.loader import FormError, load_all, load_form, load_trees
from forms.schema import Field, FormDefinition

__all__ = ["Field", "FormDefinition", "FormError", "load_all", "load_form", "load_trees"]
