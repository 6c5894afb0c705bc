"""Access requests, operation agreements, open-data demands: state machines and deadlines
(no HTTP and no SQL inside)."""
