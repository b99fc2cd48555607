"""The Qt adapter: models over the repository, views, and the main window. No SQL, no HTTP."""
