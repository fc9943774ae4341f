"""Installing the app from a link (distributed mode): the installations store, the OAuth states,
the per-request authorize, the install routes and what uninstalling undoes."""
