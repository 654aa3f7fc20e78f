"""Typed models of the configuration language, and parsing of raw objects into them."""
