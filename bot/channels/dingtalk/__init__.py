"""The DingTalk channel: everything that knows DingTalk."""
