from grimnir.cli import main

main()
