"""Quality indicators, link checking, reports and catalogue exports."""
