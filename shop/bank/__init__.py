"""Bank transfers: the NAPAS bank directory, VietQR codes, and incoming transfers
reported by a bank-notification service (SePay) matched to orders."""
