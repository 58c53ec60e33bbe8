"""Test helpers: real local servers and data builders."""
