-- A user's page in the console lists that user's application keys: an index, so the list
-- reads only their rows however many users hold keys.
CREATE INDEX api_keys_by_user ON api_keys (user_id, id) WHERE kind = 'user';
