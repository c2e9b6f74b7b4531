"""The capture pipeline: trigger → burst (``capture``) → detect and classify (``classify``) → one durable record
per sequence (``writer``), with early alerts, thumbnails and the messages composed for the outbox."""
