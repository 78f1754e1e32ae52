-- Short-lived single-use tickets for the streaming routes (POST /realtime/tickets): a browser's
-- WebSocket or EventSource cannot set headers, and a ticket in a URL is worthless once used or a
-- minute old, unlike the API key itself. Only the ticket's hash is stored.
CREATE TABLE realtime_tickets (
  ticket_hash TEXT PRIMARY KEY,
  key_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX realtime_tickets_expires_at ON realtime_tickets (expires_at);
