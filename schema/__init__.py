"""The SQL of power.db (sqlite/) and of the central MySQL tables (mysql/), shipped as package data."""
