// Placeholder entry point: replaced by the service implementation.
return 0;
