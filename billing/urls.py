from . import urls_decisions, urls_jobs

app_name = "billing"

urlpatterns = [*urls_decisions.urlpatterns, *urls_jobs.urlpatterns]
