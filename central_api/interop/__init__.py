"""Interop with what a practice already runs: telephony callbacks, FHIR R4, CSV worklists."""
