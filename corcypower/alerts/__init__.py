"""Alerts: rules over batches and health, their state and history, and the notifiers.

rules.py     [[alerts]] tables into checked Rules
engine.py    the rules evaluated per batch and per tick, with hysteresis → events
gate.py      rate limits and quiet hours: which events are notified now, which later
history.py   events stored in power.db, and the read-only queries of them
notifiers.py log, webhook and ntfy; email.py SMTP; mqtt.py the MQTT topic and HA sensor
delivery.py  each notifier's bounded queue and thread, retries; nothing waits on it
service.py   attach(daemon): the engine as a listener, its tick thread, the API's part
"""
