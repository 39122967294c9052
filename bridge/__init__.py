"""dawgen front doors: OSC (UDP/TCP), the CLI and client. Imports server/, never torch."""
