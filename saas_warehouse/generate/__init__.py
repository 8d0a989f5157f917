"""Realistic sample exports (CONTRACT.md §3)."""
