"""The consumer half: a PrivateLinkEndpoint becomes an interface VPC endpoint, and the operator
proves continuously that the service answers over HTTP/2 through it."""
