"""Importing the collection's controller code (action and plugin_utils plugins) in a unit test.

Importing an action plugin loads ansible's controller code, which switches module_utils' warnings to the
controller's display for the rest of the process. ``controller_import`` imports a plugin for one test
module and switches them back afterwards, so the module tests after it still see their warnings.
"""

from __future__ import annotations

import contextlib
import importlib

from ansible.module_utils import _internal


@contextlib.contextmanager
def controller_import(name):
    """The module ``name``, imported; module_utils' warnings as they were when the block ends."""
    was_controller = _internal.is_controller
    try:
        yield importlib.import_module(name)
    finally:
        _internal.is_controller = was_controller
