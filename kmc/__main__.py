from kmc.cli import main

main()
