"""`wanplan init`: the files of a new project, from templates in files/."""
