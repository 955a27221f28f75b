"""Kafka adapter: topics, the API's publisher, the worker's consumer."""
