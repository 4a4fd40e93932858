"""The reliability suite: helpers in `reliability.harness`, its fixtures (`mocks`, `setup`)
in `reliability.fixtures`, loaded by the root conftest."""
