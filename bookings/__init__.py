"""Bookings: what can be booked (the calendar), what was booked, and the sessions that asked for it."""
