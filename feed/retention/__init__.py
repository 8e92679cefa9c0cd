"""Feed retention: the rule table and pure planner, the stored policy and pins, the job, its audit, lease and schedule."""
