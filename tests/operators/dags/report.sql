SELECT '{{ ds }}' AS d, :f AS f
