"""The Draw tab: the pad, the live reading and its explanations (feature maps, saliency, preprocessing) and the
teach buttons. Never imports training or data code."""
