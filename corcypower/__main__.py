from corcypower.cli import main

main()
