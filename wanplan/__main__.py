from wanplan.cli.main import main

main()
