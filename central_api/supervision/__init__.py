"""Supervision on the server (issue 8): the session mirror, shadowing, whispers, the team
board and control. Routes live in `central_api.api.routes.sessions` and `.team`."""
