"""The Draw tab: the pad, the live reading, its explanations, the teach buttons. Never imports training or data."""
