"""The API's routes, one router per resource: templates, renders, batches, health."""
