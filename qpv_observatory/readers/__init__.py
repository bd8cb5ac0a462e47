"""Readers: one function per published file layout, each returning canonical frames."""
