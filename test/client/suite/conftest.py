pytest_plugins = ["pytest_test_cleanup"]
