"""The Slack adapter: slack-bolt (async) in Socket Mode or HTTP mode."""
