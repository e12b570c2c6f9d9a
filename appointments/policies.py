def forget_cached_policies() -> None:
    pass
