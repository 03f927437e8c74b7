"""`inferenceguard eval`: methods x prompt sets, judged by the guiding policy and by an independent judge."""
