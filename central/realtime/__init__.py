"""Real-time events to the dashboard over Socket.IO."""
