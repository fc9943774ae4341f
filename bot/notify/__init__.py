"""Channel notifications: the store, change detection and planning, digest schedules, the
subscription commands (`commands`), the messages the worker posts (`messages`) and the worker
itself (`worker`)."""
