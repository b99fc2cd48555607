"""SLA: business calendars and holidays, the policy file, the engine, reports from the SLA log."""
