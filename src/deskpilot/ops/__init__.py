"""Operations: KPIs, the review list, content gaps and knowledge hygiene, computed from stored events."""
