"""Outbound webhooks: what textdesk tells a business's own systems (ServiceTitan, Zapier, n8n …).

Signed per the Standard Webhooks specification; the delivery row is the truth and RQ only carries
its id, so a Redis or receiver outage delays a delivery but never loses it.
"""
