"""wanplan's side of CI: one comment kept up to date on a pull or merge request.

comment.py composes the body and creates or updates the comment; forges.py speaks GitHub's
and GitLab's comment APIs; environment.py reads the defaults a CI job's variables give.
"""
