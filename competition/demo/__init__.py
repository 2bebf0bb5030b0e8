"""The embedded demo competitions (make_demo.py writes binary/ and multiclass/)."""
