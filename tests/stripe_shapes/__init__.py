"""Stripe objects as Stripe really sends them, for the webhook tests: multi-line invoices
(plan, proration, one-off and add-on lines in any order), invoice payments, subscriptions with
several items and quantities, yearly prices.

Where each shape comes from (read with the `stripe/openapi` repository's
`openapi/fixtures3.json`, and stripe-python 16.1's resource classes in .venv):

- `invoices.py`: the `invoice` and `line_item` fixtures, with the fields of
  `stripe/_invoice.py` and `stripe/_invoice_line_item.py` (`parent.subscription_item_details`
  / `parent.invoice_item_details` with `proration`, `pricing.price_details.price`,
  `discount_amounts`), and, for the legacy layout (API 2024-06-20), the same objects before
  basil (`type`, `proration`, `price`, `subscription`, `invoice.charge`/`payment_intent`).
  Line descriptions ("Unused time on ...", "Remaining time on ...", "1 × Pro (at ...)",
  "Trial period for ...") are the ones Stripe writes.
- `payments.py`: the `invoice_payment` fixture (`stripe/_invoice_payment.py`: `invoice`,
  `payment.type` / `payment_intent` / `charge`, `status`).
- `subscriptions.py`: the `subscription` and `subscription_item` fixtures
  (`items.data[].price`, `quantity`, `current_period_start/end` on the item in the current
  layout, on the subscription in the legacy one).

Only the fields a reader might look at are kept, so each shape stays small.
"""
