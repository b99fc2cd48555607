-- How many items an account's fetches rejected (a web-form submission without its fields, a
-- message that could not be stored) and the last reason, as the desktop's store keeps them: the
-- account stays "up to date", so the count is shown beside its state.
ALTER TABLE accounts ADD COLUMN rejected integer NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN last_rejection text NOT NULL DEFAULT '';
