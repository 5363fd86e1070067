"""Practice set-up from a reviewed file: apply, diff, export, script approval, set-up codes."""
